// labeldice - Dice overlap of two label images on one grid, per label,
// for bench/atlas.sh (the same computation for sulcus's and elastix's
// warped labels).
//
//   labeldice A B LABEL...     prints "dice_LABEL\tVALUE" per label and
//                              "dice_mean\tVALUE" over them
#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

using Image = itk::Image<float, 3>;

static Image::Pointer read(const char *path)
{
	auto r = itk::ImageFileReader<Image>::New();
	r->SetFileName(path);
	r->Update();
	return r->GetOutput();
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		std::fprintf(stderr, "usage: labeldice A B LABEL...\n");
		return 2;
	}
	try {
		Image::Pointer a = read(argv[1]), b = read(argv[2]);
		if (a->GetLargestPossibleRegion() != b->GetLargestPossibleRegion()) {
			std::fprintf(stderr, "labeldice: %s and %s: expected the same grid\n", argv[1], argv[2]);
			return 1;
		}
		double sum = 0;
		for (int k = 3; k < argc; k++) {
			long label = std::strtol(argv[k], nullptr, 10), na = 0, nb = 0, both = 0;
			itk::ImageRegionConstIterator<Image> ia(a, a->GetLargestPossibleRegion());
			itk::ImageRegionConstIterator<Image> ib(b, b->GetLargestPossibleRegion());
			for (; !ia.IsAtEnd(); ++ia, ++ib) {
				bool x = std::lround(ia.Get()) == label, y = std::lround(ib.Get()) == label;
				na += x;
				nb += y;
				both += x && y;
			}
			double d = na + nb ? 2.0 * both / (na + nb) : 1.0;
			std::printf("dice_%ld\t%.4f\n", label, d);
			sum += d;
		}
		std::printf("dice_mean\t%.4f\n", sum / (argc - 3));
	} catch (const itk::ExceptionObject &e) {
		std::fprintf(stderr, "labeldice: %s\n", e.GetDescription());
		return 1;
	}
	return 0;
}
